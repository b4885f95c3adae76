"""The peer baseline: django-helpdesk from PyPI, in its own venv, one worker, SQLite, console e-mail.

The venv lives in `bench/.peer-venv` (made once, reused); the Django project is generated in a temp dir
for every run so nothing is carried over between runs.
"""
from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PEER_VENV = Path(__file__).with_name(".peer-venv")
PACKAGES = ["django-helpdesk", "djangorestframework", "gunicorn"]
USER, PASSWORD = "bench", "bench-password-1"

SETTINGS = '''
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "django.contrib.staticfiles", "django.contrib.sites", "django.contrib.humanize",
    "rest_framework", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware", "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware", "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "peerdesk.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]
WSGI_APPLICATION = "peerdesk.wsgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3",
                         "OPTIONS": {"timeout": 30}}}
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False, "handlers": {"null": {"class": "logging.NullHandler"}},
           "root": {"handlers": ["null"], "level": "ERROR"}}
SITE_ID = 1
USE_TZ = True
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
HELPDESK_ACTIVATE_API_ENDPOINT = True
HELPDESK_API_ENABLED = True
HELPDESK_TEAMS_MODE_ENABLED = False
# Basic auth checks the password on every request; Django's default PBKDF2 (1,000,000 rounds) would make the
# peer measure password hashing, not ticket creation. A fast hasher keeps the comparison about tickets.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication"]}
'''

URLS = '''
from django.urls import include, path
urlpatterns = [path("", include("helpdesk.urls", namespace="helpdesk"))]
'''

WSGI = '''
import os
from django.core.wsgi import get_wsgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdesk.settings")
application = get_wsgi_application()
'''

SEED = f'''
from django.contrib.auth import get_user_model
from helpdesk.models import Queue
User = get_user_model()
if not User.objects.filter(username="{USER}").exists():
    User.objects.create_superuser("{USER}", "bench@example.com", "{PASSWORD}")
q, _ = Queue.objects.get_or_create(slug="aftersales", defaults={{"title": "After-sales",
                                                                 "email_address": "desk@example.com"}})
print(q.id)
'''


def python() -> Path:
    return PEER_VENV / "bin" / "python"


def ensure_venv(log: Callable[[str], None] = print) -> Path:
    """Create bench/.peer-venv with django-helpdesk (first run only; needs PyPI)."""
    marker = PEER_VENV / ".installed"
    if marker.exists():
        return python()
    log(f"peer: creating {PEER_VENV} (pip install {' '.join(PACKAGES)}) …")
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(python()), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES],
                   check=True)
    marker.write_text("\n".join(PACKAGES))
    return python()


def versions() -> dict[str, str]:
    """Versions of the peer's packages (for the record)."""
    if not python().exists():
        return {}
    out = subprocess.run([str(python()), "-c", textwrap.dedent("""
        from importlib.metadata import version
        for p in ("django-helpdesk", "Django", "djangorestframework", "gunicorn"):
            print(p, version(p))""")], capture_output=True, text=True)
    return dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)


@dataclass
class PeerServer:
    proc: subprocess.Popen[bytes]
    url: str
    queue_id: int
    workdir: Path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def ticket_count(self) -> int:
        conn = sqlite3.connect(self.workdir / "db.sqlite3", timeout=30)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM helpdesk_ticket").fetchone()[0])
        finally:
            conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(workdir: Path, log: Callable[[str], None] = print) -> PeerServer:
    """Generate the project in `workdir`, migrate, seed a superuser and a queue, start one worker."""
    py = str(ensure_venv(log))
    pkg = workdir / "peerdesk"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "settings.py").write_text(SETTINGS)
    (pkg / "urls.py").write_text(URLS)
    (pkg / "wsgi.py").write_text(WSGI)
    (workdir / "manage.py").write_text(
        "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'peerdesk.settings')\n"
        "from django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "peerdesk.settings", "PYTHONPATH": str(workdir)}
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=workdir, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    conn = sqlite3.connect(workdir / "db.sqlite3")
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # the same journal mode as Afterdesk's SQLite
    finally:
        conn.close()
    out = subprocess.run([py, "manage.py", "shell", "-c", SEED], cwd=workdir, env=env, check=True,
                         capture_output=True, text=True)
    queue_id = int(out.stdout.strip().splitlines()[-1])
    port = free_port()
    gunicorn = PEER_VENV / "bin" / "gunicorn"
    cmd = [str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "peerdesk.wsgi"]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"peer server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            urllib.request.urlopen(f"{url}/api/tickets/", timeout=1)
        except urllib.error.HTTPError:
            break  # 401/403: up
        except OSError:
            time.sleep(0.2)
            continue
        break
    else:
        proc.kill()
        raise RuntimeError("peer server did not come up in 60 s")
    return PeerServer(proc=proc, url=url, queue_id=queue_id, workdir=workdir)
