"""Mail to people: templates, a durable outbox, and delivery through Resend."""
