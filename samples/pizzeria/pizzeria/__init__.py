"""Mario's Pizzeria: the sample application of facta's tutorial.

``pizzeria.domain`` holds the model, ``pizzeria.application`` the commands, queries and
read models, and ``pizzeria.app`` composes them into a facta application
(``create_app``). Nothing is imported here, so the domain can be used on its own.
"""
