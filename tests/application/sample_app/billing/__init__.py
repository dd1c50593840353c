"""A subpackage: scanning a package scans its subpackages too."""
