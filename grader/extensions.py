"""Flask extensions, created unbound; ``create_app`` binds them with ``init_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints keep Alembic migrations portable between SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A session lives for one request (or one task, one command): objects keep the values they were
# loaded or written with after a commit, instead of being reloaded one query each on the next
# read (SQLAlchemy's expire_on_commit, a documented session option). Code that needs another
# transaction's changes reads them with a new query, or after a rollback.
db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING_CONVENTION),
    session_options={"expire_on_commit": False},
)
migrate = Migrate(render_as_batch=True)

csrf = CSRFProtect()
login_manager = LoginManager()
# Keyed per client address by default; API views key by token (see grader/api).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
