"""Read models shared by the digest, the dashboard and the CLI: themes, features, charts, feedback, flags, status."""
