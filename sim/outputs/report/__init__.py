"""`sim report`: one self-contained HTML page per results folder."""
