"""WSGI entry point: `gunicorn --no-control-socket -k gthread --threads 64 -w 1 wsgi:app`.

The same app serves HTTP and Socket.IO (Flask-SocketIO in threading mode).
"""
from hub import create_app

app = create_app()
