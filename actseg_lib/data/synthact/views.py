"""Cameras and virtual IMUs: the views of the simulated body other than RGB (its joint
heat maps are drawn by the generic :func:`actseg_lib.data.heatmaps.joint_heatmaps`).

Body frame: x to the subject's left, y up, z forward. Camera frame (like a Kinect):
x to the right of the image, y up, z away from the camera (depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import J

GRAVITY = 9.81


@dataclass(frozen=True)
class Camera:
    """A pinhole camera on a circle round the subject, looking at its chest."""

    yaw: float  # degrees; 0 = straight in front of the subject
    distance: float = 2.6  # metres
    height: float = 1.1
    target_height: float = 0.95
    focal: float = 1.1  # focal length in image heights

    def rotation(self) -> np.ndarray:
        """[3, 3] rows: the camera's right, up and forward axes in the body frame."""
        position = self.position()
        forward = np.array([0.0, self.target_height, 0.0]) - position
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        return np.stack([right, up, forward])

    def position(self) -> np.ndarray:
        a = np.deg2rad(self.yaw)
        return np.array([self.distance * np.sin(a), self.height, self.distance * np.cos(a)])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """[..., 3] body-frame points -> camera frame (metres)."""
        return (points - self.position()) @ self.rotation().T

    def project(self, points_cam: np.ndarray, image_size: int) -> np.ndarray:
        """[..., 3] camera-frame points -> [..., 2] pixels (x right, y down)."""
        f = self.focal * image_size
        depth = np.maximum(points_cam[..., 2], 0.1)
        x = image_size / 2 + f * points_cam[..., 0] / depth
        y = image_size / 2 - f * points_cam[..., 1] / depth
        return np.stack([x, y], axis=-1)


# NTU-like views: three cameras at -45, 0 and +45 degrees.
VIEWS = (Camera(yaw=0.0), Camera(yaw=-45.0), Camera(yaw=45.0))


# --- virtual IMUs ----------------------------------------------------------------------

# OpenPack's four ATR sensors: (name, the point it sits on, the joint whose frame it follows)
IMU_SENSORS = (
    ("right_wrist", ("right_wrist",), "right_elbow"),
    ("left_wrist", ("left_wrist",), "left_elbow"),
    ("right_upper_arm", ("right_shoulder", "right_elbow"), "right_shoulder"),
    ("left_upper_arm", ("left_shoulder", "left_elbow"), "left_shoulder"),
)


def imu_signals(
    positions: np.ndarray, rotations: np.ndarray, fps: float, rng: np.random.Generator, noise: bool = True
) -> np.ndarray:
    """Accelerometer (G) and gyroscope (deg/s) readings of the four sensors.

    The accelerometer measures specific force, acceleration minus gravity, in the
    sensor's own frame: f = R^T (a - g) with g = (0, -9.81, 0). The gyroscope measures
    the sensor frame's angular velocity, from R^T dR/dt = [w]x.

    Args:
        positions: [T, J, 3] metres (world frame); rotations: [T, J, 3, 3].

    Returns:
        [T, 4, 6] float32: acc x, y, z then gyro x, y, z per sensor.
    """
    dt = 1.0 / fps
    out = []
    for _, points, frame_joint in IMU_SENSORS:
        p = np.mean([positions[:, J[n]] for n in points], axis=0)  # [T, 3]
        R = rotations[:, J[frame_joint]]  # [T, 3, 3]
        accel = np.gradient(np.gradient(p, dt, axis=0), dt, axis=0)
        force = accel + np.array([0.0, GRAVITY, 0.0])
        acc = np.einsum("tji,tj->ti", R, force) / GRAVITY  # R^T f
        dR = np.gradient(R, dt, axis=0)
        omega = np.einsum("tji,tjk->tik", R, dR)  # R^T dR/dt, skew-symmetric up to noise
        gyro = np.rad2deg(
            np.stack(
                [omega[:, 2, 1] - omega[:, 1, 2], omega[:, 0, 2] - omega[:, 2, 0], omega[:, 1, 0] - omega[:, 0, 1]],
                axis=-1,
            )
            / 2
        )
        if noise:
            acc = acc + rng.normal(0, 0.03, size=3) + rng.normal(0, 0.02, size=acc.shape)  # bias + noise
            gyro = gyro + rng.normal(0, 1.0, size=3) + rng.normal(0, 1.5, size=gyro.shape)
        out.append(np.concatenate([acc, gyro], axis=-1))
    return np.stack(out, axis=1).astype(np.float32)
