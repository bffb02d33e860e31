"""Framework adapters: how a job of each kind is run and recorded."""
