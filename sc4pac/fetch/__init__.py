"""Fetching remote files: the HTTP downloader, its failure types and the on-disk download cache.

Channel loading (`sc4pac.channels`) and package installation (`sc4pac.install`) both use this
package; it depends only on models and storage.
"""
