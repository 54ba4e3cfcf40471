"""Update history, kept generations of removed package folders, and what a revert needs from them."""
