"""Kept for the seed SDK's import path ``user_agent_sdk.utils.exception``."""
