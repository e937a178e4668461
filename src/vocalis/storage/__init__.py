"""Audio files on disk and their retention: where finished audio lives and when it goes.

Sits below the domains that store audio, so it knows no job: each domain registers its own
purger (what has expired, by its own rules) and the retention sweep runs them all.
"""
