"""Speech endpoints: admission, engine, encoding."""
