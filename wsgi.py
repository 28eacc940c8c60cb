"""WSGI entry point: `gunicorn -c gunicorn.conf.py wsgi:app` (settings in gunicorn.conf.py).

The same app serves HTTP and Socket.IO (Flask-SocketIO in threading mode).
"""
from hub import create_app

app = create_app()
