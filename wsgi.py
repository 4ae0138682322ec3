"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from civicforum import create_app

app = create_app()
