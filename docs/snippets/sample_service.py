# A sampling service without TensorFlow: GET /sample?seed=3&n=16 -> a PNG grid.
import io
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

from PIL import Image

from kerazoo import runtime

generator = runtime.load("runs/dcgan/export/generator.tflite")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        try:
            seed, n = int(query.get("seed", ["0"])[0]), int(query.get("n", ["16"])[0])
            if url.path != "/sample" or not 1 <= n <= 256:
                raise ValueError("use /sample?seed=S&n=N with 1 <= N <= 256")
        except ValueError as e:
            self.send_error(400, str(e))
            return
        png = io.BytesIO()
        Image.fromarray(runtime.image_grid(generator.sample(n, seed=seed))).save(png, format="PNG")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(png.getvalue())


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", 8080), Handler).serve_forever()
