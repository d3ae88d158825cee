"""The API blueprint; the route modules register their views on it."""

from flask import Blueprint

bp = Blueprint("api", __name__)
