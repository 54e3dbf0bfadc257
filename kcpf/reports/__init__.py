"""The reports T&P circulates (SMT's biannual update, each executive's annual update, the Appendix A pack), as
plain content: `connectors/` renders them to Word."""
