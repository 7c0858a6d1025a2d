"""Entry point of `pulumi up`: read the stack config, build the Platform, export its outputs."""

import pulumi

from components.config import read_stack_config
from components.platform import Platform

config = read_stack_config()
platform = Platform(f"{pulumi.get_project()}-{pulumi.get_stack()}", config)
for key, value in platform.outputs().items():
    pulumi.export(key, value)
