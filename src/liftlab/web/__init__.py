"""Server-rendered pages: sign-in, environments, experiments with their results, metric library."""
