"""The desktop GUI (PyQt6 + pyqtgraph): a thin view over :class:`rppg.stream.Engine`."""
