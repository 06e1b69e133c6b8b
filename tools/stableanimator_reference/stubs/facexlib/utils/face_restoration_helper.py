"""``FaceRestoreHelper`` with no detector: it never finds a face."""


class FaceRestoreHelper:
    def __init__(self, *args, **kwargs):
        self.cropped_faces = []
        self.face_parse = None

    def clean_all(self):
        self.cropped_faces = []

    def read_image(self, image):
        return None

    def get_face_landmarks_5(self, *args, **kwargs):
        return 0

    def align_warp_face(self, *args, **kwargs):
        return None
