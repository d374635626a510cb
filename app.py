"""治理知库 — the Streamlit app: `streamlit run app.py` (pages live in kb/app/)."""

import streamlit as st

st.set_page_config(page_title="治理知库", page_icon="📚", layout="wide")

from kb.app import run  # noqa: E402 - set_page_config must come first

run()
