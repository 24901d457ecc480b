from setuptools import find_packages, setup

setup(
    name="acme-tools",
    version="1.4.0",
    packages=find_packages(),
    python_requires=">=3.8",
    install_requires=[
        "click>=8.0",  # the CLI
        "pyyaml",
        'rich>=13,<14',
    ],
    tests_require=["pytest"],
    entry_points={"console_scripts": ["acme=acme_tools.cli:main"]},
)
