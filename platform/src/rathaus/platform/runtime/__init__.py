"""The runtime: the embedded platform (``rathaus up``), one module alone
(``rathaus serve``), and the child processes they manage."""
