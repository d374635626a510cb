"""治理知库 (kb): a knowledge base of Chinese grassroots-governance documents.

``import kb`` stays light: the heavy parts (torch, faiss, sentence-transformers) load
only when a model or an index is actually used.
"""

from kb.errors import KBError
from kb.settings import Settings
from kb.types import Answer, Document, Hit, Passage, Region

__all__ = ["KBError", "Settings", "Document", "Passage", "Hit", "Answer", "Region", "KnowledgeBase"]
__version__ = "0.3.4"


def __getattr__(name: str):
    if name == "KnowledgeBase":
        from kb.api import KnowledgeBase

        return KnowledgeBase
    raise AttributeError(name)
