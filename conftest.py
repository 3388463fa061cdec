pytest_plugins = ["rathaus.platform.testing"]
