"""The seed README's quick-start agent, verbatim: ``useragent run examples/sum_agent.py``."""

# ruff: noqa: RET504 - the seed's code, kept exactly as users copy it

from logging import Logger

from user_agent_sdk import user_agent


@user_agent()
def sum_agent(input_data: dict, logger: Logger):
    # These logs will be visible in the akaBot 2.0 platform for monitoring
    logger.info("Processing task input")

    # Do some work with the input data
    num1 = input_data.get("num1", 0)
    num2 = input_data.get("num2", 0)
    total = num1 + num2

    return total
