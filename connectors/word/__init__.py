"""Word (.docx) reports with python-docx: the renderer, its default template and template checks."""

from connectors.word.renderer import DOCX_MEDIA_TYPE, WordRenderer
from connectors.word.template import TemplateInvalid, default_template, load_template

__all__ = ["DOCX_MEDIA_TYPE", "TemplateInvalid", "WordRenderer", "default_template", "load_template"]
