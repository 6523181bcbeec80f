r"""Why did the model say *positive*? Token attributions, computed with the package's own backward pass.

One module per method, each giving a score $\chi_t$ to every token $t$ of one input for one
logit $z_c$ (the predicted class unless another is asked for):

- :mod:`~roberta_math.interpret.gradients`: the gradient $\partial z_c / \partial \mathcal{E}_t$ with respect
  to each token's input embedding $\mathcal{E}_t$ (its L2 norm) and gradient $\times$ input
  ($\langle \partial z_c/\partial \mathcal{E}_t, \mathcal{E}_t \rangle$);
- :mod:`~roberta_math.interpret.integrated_gradients`: Integrated Gradients from a stated baseline,
  with its completeness error;
- :mod:`~roberta_math.interpret.rollout`: attention rollout from the ``<s>`` row;
- :mod:`~roberta_math.interpret.occlusion`: the change of $z_c$ when one token is replaced by
  ``<mask>`` or removed.

The gradients come from :mod:`roberta_math.math`'s vector-Jacobian products (no
``torch.autograd``); ``tests/test_interpret.py`` checks gradient $\times$ input and Integrated
Gradients against Captum.
"""
