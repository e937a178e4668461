"""The dashboard and playground: the React app's built files, served by the same process."""
