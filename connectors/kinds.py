"""Imports every source kind so that `connectors.base.KINDS` knows them (one module per kind)."""
