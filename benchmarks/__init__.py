"""Performance suites: ratios measured side by side in one run (see README, `make bench`)."""
