"""A SAM 2.1 from Meta's `sam2` package with seeded random weights, exported to ONNX in the two forms the
ecosystem serves, each written here from the exporters' documented inputs and outputs (not their code):

- osam (labelme) serves ryouchinsa/sam-cpp-macos's export: encoder `input [1,3,1024,1024]` ->
  `image_embeddings, high_res_features1, high_res_features2`; decoder `image_embeddings, high_res_features1,
  high_res_features2, point_coords, point_labels, mask_input, has_mask_input, orig_im_size (int64)` ->
  `masks` (all four tokens, bilinear to orig_im_size), `iou_predictions [1,4]`, `low_res_masks [1,4,256,256]`
  clamped to +-32.
- samexporter (X-AnyLabeling): encoder `image` -> `high_res_feats_0, high_res_feats_1, image_embed`; decoder
  `image_embed, high_res_feats_0, high_res_feats_1, point_coords, point_labels, mask_input, has_mask_input`
  -> the three multimask outputs `masks [1,3,256,256]` clamped to +-32 and `iou_predictions [1,3]`.

Both decoders take clicks in the 1024x1024 input's pixels, add SAM 2's half-pixel shift and its padding
point themselves, as SAM2ImagePredictor's prompt encoder does. `shrink=True` replaces the Hiera trunk by a
5-block, 8-channel one (the checks are about what happens around the network); the FPN neck, the prompt
encoder and the mask decoder keep SAM 2.1's real sizes. Test-only dependency: sam2==1.1.0.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sam2", reason="SAM 2 reference not installed: SAM2_BUILD_CUDA=0 pip install --no-build-isolation "
                    "sam2==1.1.0 (docs/MODELS.md)")

CONFIGS = {"tiny": "configs/sam2.1/sam2.1_hiera_t.yaml", "small": "configs/sam2.1/sam2.1_hiera_s.yaml"}
SHRUNK_TRUNK = ["++model.image_encoder.trunk.embed_dim=8", "++model.image_encoder.trunk.stages=[1,1,2,1]",
                "++model.image_encoder.trunk.global_att_blocks=[3]",
                "++model.image_encoder.neck.backbone_channel_list=[64,32,16,8]"]


def random_sam2(config: str = "tiny", shrink: bool = True, seed: int = 0):
    """SAM2Base as build_sam2 makes it (with its dynamic multimask settings), random weights, eval mode."""
    from sam2.build_sam import build_sam2

    torch.manual_seed(seed)
    return build_sam2(CONFIGS[config], None, device="cpu", hydra_overrides_extra=SHRUNK_TRUNK if shrink else [])


class Encoder(torch.nn.Module):
    """SAM2ImagePredictor.set_image after the resize: backbone, the decoder's 1x1 convs on the two
    high-resolution levels (forward_image), no_mem_embed added to the 64x64 level."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        _, feats, _, sizes = self.model._prepare_backbone_features(self.model.forward_image(x))
        feats[-1] = feats[-1] + self.model.no_mem_embed
        hr0, hr1, emb = [f.permute(1, 2, 0).reshape(1, -1, h, w) for f, (h, w) in zip(feats, sizes)]
        return emb, hr0, hr1


class Decoder(torch.nn.Module):
    """Prompt encoder + mask decoder with traceable point embedding (torch.where instead of in-place)."""

    def __init__(self, model, form: str) -> None:
        super().__init__()
        self.prompt, self.mask_decoder, self.form = model.sam_prompt_encoder, model.sam_mask_decoder, form
        self.side = float(model.image_size)

    def forward(self, image_embeddings, high_res_0, high_res_1, point_coords, point_labels, mask_input,
                has_mask_input, orig_im_size=None):
        n = point_coords.shape[0]
        coords = torch.cat([point_coords + 0.5, torch.zeros(n, 1, 2)], dim=1) / self.side   # padding point last
        labels = torch.cat([point_labels, -torch.ones(n, 1)], dim=1).unsqueeze(-1)
        sparse = torch.where(labels == -1, self.prompt.not_a_point_embed.weight,
                             self.prompt.pe_layer._pe_encoding(coords))
        for i, embed in enumerate(self.prompt.point_embeddings):
            sparse = sparse + embed.weight * (labels == i)
        dense = (has_mask_input * self.prompt.mask_downscaling(mask_input)
                 + (1 - has_mask_input) * self.prompt.no_mask_embed.weight.reshape(1, -1, 1, 1))
        masks, iou, _, _ = self.mask_decoder.predict_masks(
            image_embeddings=image_embeddings, image_pe=self.prompt.get_dense_pe(), sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense, repeat_image=False, high_res_features=[high_res_0, high_res_1])
        if self.form == "osam":
            full = torch.nn.functional.interpolate(masks, size=(orig_im_size[0], orig_im_size[1]), mode="bilinear",
                                                   align_corners=False)
            return full, iou, torch.clamp(masks, -32.0, 32.0)
        return torch.clamp(masks[:, 1:], -32.0, 32.0), iou[:, 1:]


NAMES = {  # form -> (encoder input, encoder outputs, decoder inputs, decoder outputs)
    "osam": ("input", ["image_embeddings", "high_res_features1", "high_res_features2"],
             ["image_embeddings", "high_res_features1", "high_res_features2", "point_coords", "point_labels",
              "mask_input", "has_mask_input", "orig_im_size"], ["masks", "iou_predictions", "low_res_masks"]),
    "samexporter": ("image", ["high_res_feats_0", "high_res_feats_1", "image_embed"],
                    ["image_embed", "high_res_feats_0", "high_res_feats_1", "point_coords", "point_labels",
                     "mask_input", "has_mask_input"], ["masks", "iou_predictions"]),
}


SAMEXPORTER_ENCODER = {"input": "image", "image_embeddings": "image_embed", "high_res_features1": "high_res_feats_0",
                       "high_res_features2": "high_res_feats_1"}   # osam's name -> samexporter's


def _samexporter_encoder(src: Path, dst: Path) -> None:
    """osam's encoder graph under samexporter's names and output order (tracing it again costs seconds)."""
    import onnx

    graph_model = onnx.load(str(src))
    graph = graph_model.graph
    for node in graph.node:
        node.input[:] = [SAMEXPORTER_ENCODER.get(n, n) for n in node.input]
        node.output[:] = [SAMEXPORTER_ENCODER.get(n, n) for n in node.output]
    graph.input[0].name = SAMEXPORTER_ENCODER[graph.input[0].name]
    outputs = {}
    for value in graph.output:
        copy = outputs[SAMEXPORTER_ENCODER[value.name]] = onnx.ValueInfoProto()
        copy.CopyFrom(value)
        copy.name = SAMEXPORTER_ENCODER[value.name]
    del graph.output[:]
    graph.output.extend(outputs[name] for name in NAMES["samexporter"][1])
    onnx.save(graph_model, str(dst))


def export_sam2(model, folder: Path, forms=("osam", "samexporter")) -> dict[str, tuple[Path, Path]]:
    """form -> (encoder.onnx, decoder.onnx); one encoder graph, traced once."""
    out = {}
    dummy = (torch.randn(1, 256, 64, 64), torch.randn(1, 32, 256, 256), torch.randn(1, 64, 128, 128),
             torch.rand(1, 3, 2) * 1024, torch.tensor([[2.0, 3.0, 1.0]]), torch.randn(1, 1, 256, 256),
             torch.tensor([1.0]), torch.tensor([700, 900], dtype=torch.int64))
    traced = Path(folder) / "osam_encoder.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # wrappers in eval mode: export puts a module back in the mode it had, submodules included
        torch.onnx.export(Encoder(model).eval(), torch.zeros(1, 3, 1024, 1024), str(traced), dynamo=False,
                          opset_version=17, input_names=[NAMES["osam"][0]], output_names=NAMES["osam"][1])
        for form in forms:
            _, _, dec_in, dec_out = NAMES[form]
            enc, dec = Path(folder) / f"{form}_encoder.onnx", Path(folder) / f"{form}_decoder.onnx"
            if form == "samexporter":
                _samexporter_encoder(traced, enc)
            torch.onnx.export(Decoder(model, form).eval(), dummy[:len(dec_in)], str(dec), dynamo=False,
                              opset_version=17, input_names=dec_in, output_names=dec_out,
                              dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}})
            out[form] = (enc, dec)
    return out
