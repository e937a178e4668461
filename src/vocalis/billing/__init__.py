"""Plans and what they allow; payment (Stripe) builds on this."""
