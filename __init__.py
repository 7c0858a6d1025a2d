"""gpu-platform: a GPU inference platform on AWS EKS, as a Pulumi program and a library.

Installed (`pip install <repo>`), the project is the package `gpu_platform`: its Automation facade is
`gpu_platform.automation`, the components `gpu_platform.components`, the offline engine
`gpu_platform.offline`. In a checkout the same folder is the Pulumi project (`__main__.py`,
`Pulumi.yaml`, `components/`, `policies/`); `make` installs it into `.venv` in editable mode, so the
program and the tests import it by the same name. Nothing is imported here: importing a subpackage
costs only what it uses.
"""
