"""Entry point of `pulumi up`: read the stack config, build the Platform, export its outputs."""

from gpu_platform.components.config import read_stack_config
from gpu_platform.components.platform import stack_program

stack_program(read_stack_config())
