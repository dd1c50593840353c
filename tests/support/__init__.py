"""Support code shared by facta's own tests: a small banking domain and back-end fixtures."""
