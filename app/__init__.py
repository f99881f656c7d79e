"""The ServeTwin what-if dashboard (Streamlit + plotly): `streamlit run app/dashboard.py` from the repository root.

Figures are pure functions of DataFrames (`app.figures*`), widgets are derived from the scenario schema
(`app.fields`, `app.widgets`), runs are cached per (resolved scenario, seed) (`app.runs`); the tabs live in
`app.views`.
"""
