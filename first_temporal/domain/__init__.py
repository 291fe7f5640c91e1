"""The business: tables, checkpoint, the simulated source and its rules. Never imports
temporalio or a storage backend, so every layer above can depend on it."""
