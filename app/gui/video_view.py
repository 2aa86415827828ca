"""The live video panel: the latest frame with the tracked face box and skin regions drawn on it."""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt
from PyQt6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF
from PyQt6.QtWidgets import QLabel, QSizePolicy

from rppg.face.regions import rect_corners
from rppg.stream import DisplayFrame

_BOX_PEN = QColor(80, 220, 120)
_REGION_PEN = QColor(255, 200, 40)


class VideoView(QLabel):
    """Shows one :class:`DisplayFrame` at a time, scaled to fit, overlays drawn in image coordinates.

    The BGR image is wrapped as a QImage without copying or colour conversion (Qt
    reads BGR888 directly); one pixmap per displayed frame, nothing per pixel in Python.
    """

    def __init__(self) -> None:
        super().__init__("no video")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #111; color: #aaa; font-size: 16px;")
        self._shown: DisplayFrame | None = None

    def show_frame(self, frame: DisplayFrame | None) -> None:
        """Draw ``frame`` unless it is the one already on screen."""
        if frame is None or frame is self._shown:
            return
        self._shown = frame
        image = np.ascontiguousarray(frame.image)
        height, width = image.shape[:2]
        qimage = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_BGR888)
        pixmap = QPixmap.fromImage(qimage)  # copies the pixels, so the numpy buffer may go
        painter = QPainter(pixmap)
        pen_width = max(2, width // 320)
        if frame.box is not None:
            painter.setPen(QPen(_BOX_PEN, pen_width))
            painter.drawRect(QRectF(frame.box.x, frame.box.y, frame.box.w, frame.box.h))
        painter.setPen(QPen(_REGION_PEN, pen_width))
        for region in frame.regions:  # turned with the face: draw the outline, not the upright rect
            painter.drawPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in rect_corners(region)]))
        painter.end()
        self.setPixmap(pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation))

    def show_message(self, text: str) -> None:
        self._shown = None
        self.clear()
        self.setText(text)
