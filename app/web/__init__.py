"""What every route shares: dependencies, auth, CSRF, errors, static files and rendering."""
