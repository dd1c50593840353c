"""A small application for the handler discovery tests.

Its modules hold handlers, an abstract base handler, a module that re-exports a handler
from another module, and a subpackage, so ``HandlerRegistry.scan`` meets each case.
"""

from application.sample_app.handlers import RegisterMemberHandler

__all__ = ["RegisterMemberHandler"]
