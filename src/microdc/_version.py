__version__ = "0.1.0"  # x-release-please-version
"""The installed version of ``microdc``."""
