"""What models exist and where their weights are: specs, the built-in table, the user's models, the registry
that lists them all, weights and downloads (no inference here)."""
