"""HTTP plumbing shared by every domain router: dependencies, errors, middleware, health."""
