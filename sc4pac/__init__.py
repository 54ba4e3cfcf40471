"""sc4pac daemon: a Python reimplementation of the sc4pac server (API 3.1)."""

# The version reported as ``sc4pacVersion``: the reference release whose API we implement, so the GUI
# and bug reports see a familiar number.
SC4PAC_VERSION = "0.10.0"
API_VERSION = "3.1"
__version__ = "0.1.0"
