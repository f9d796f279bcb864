"""API operations: validation, isolation and DB changes, callable without HTTP."""
