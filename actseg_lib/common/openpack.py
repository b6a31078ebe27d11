"""OpenPack's operation ids and names (its annotation files' ``operation`` column), and
the id of its Null class, which the challenge's macro F1 leaves out."""

OPENPACK_OPERATIONS = {
    100: "Picking",
    200: "Relocate Item Label",
    300: "Assemble Box",
    400: "Insert Items",
    500: "Close Box",
    600: "Attach Box Label",
    700: "Scan Label",
    800: "Attach Shipping Label",
    900: "Put on Back Table",
    1000: "Fill out Order",
}
OPENPACK_NULL_ID = 8100
