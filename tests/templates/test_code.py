import ast

from lib.templates.code import apply_chat_template_code
from lib.templates.conversation import LECTURE_MESSAGES


def test_the_code_is_python_with_the_conversation_in_it():
    messages = [*map(dict, LECTURE_MESSAGES), {"role": "user", "content": 'Say "hi"\nand ☕'}]
    code = apply_chat_template_code("Qwen/Qwen2.5-0.5B-Instruct", messages, False)
    tree = ast.parse(code)
    assigned = {node.targets[0].id: node.value for node in tree.body if isinstance(node, ast.Assign)}
    assert ast.literal_eval(assigned["messages"]) == messages
    assert "add_generation_prompt=False" in code and '"Qwen/Qwen2.5-0.5B-Instruct"' in code
