import streamlit as st

from lib.ui.page import lesson_header
from lib.cost.conversation import conversation_costs, totals
from lib.cost.pricing import lecture_example, price_table
from lib.cost import report
from lib.ui import cost_widgets as ui

lesson_header("cost_simulator")

table = price_table()

st.header("The lecture's example")
ui.lecture_metrics(lecture_example())
ui.lecture_price_check(table)

st.header("Your scenario")
st.write("You pay for the tokens you send and the tokens you get back, per million of each.")
scenario = ui.scenario_inputs()

st.header("Compare models")
ui.price_source_note(table)
prices = ui.model_picker(table)
if scenario is not None and prices:
    rows = report.comparison_rows(prices, scenario)
    ui.headline_metrics(rows[0], scenario.period)
    st.dataframe(report.comparison_frame(rows), hide_index=True)
    st.plotly_chart(report.comparison_figure(rows, scenario.period))
    st.download_button(
        "Download the scenario table (CSV)", report.comparison_csv(rows),
        file_name="cost-scenarios.csv", mime="text/csv",
    )
elif not prices:
    st.info("Pick at least one model to price the scenario.")

st.header("Long conversations: the history is resent every turn")
st.write(
    "Models hold no state: each call sends the whole conversation so far. Keep it all and turn "
    "*k* pays for *k* − 1 earlier exchanges, so the total grows with the square of the length. "
    "A sliding window or a running summary keeps each turn's bill flat."
)
chat = ui.conversation_inputs()
if chat is not None and prices:
    price = st.selectbox("Priced as", prices, format_func=lambda p: p.name, key="chat_model")
    turns = conversation_costs(chat, price)
    ui.conversation_metrics(totals(turns), chat.turns)
    st.plotly_chart(report.conversation_figure(
        turns, "Cumulative cost ($)", "Cumulative cost of the conversation"))
    st.plotly_chart(report.conversation_figure(
        turns, "Cost of this turn ($)", "What each turn costs"))
