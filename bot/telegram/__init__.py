"""Telegram: python-telegram-bot adapter, renderer and outbox sender."""
